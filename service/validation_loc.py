"""A validation error's location as the client wrote it: without pydantic's union tags.

pydantic puts a tagged union's tag in an error's location (`body.words.exact` for the word form
of `POST …/neighbors`), though the client never sent a "words" key. The location is walked
along the body's type: a segment that selects a member of a tagged union (Discriminator + Tag,
or a field discriminator's literal) is dropped; everything else is kept as it was.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, Discriminator, Tag
from pydantic.fields import FieldInfo

_UNIONS = (typing.Union, types.UnionType)


def client_loc(loc: Sequence[Any], body_type: Any, body_info: FieldInfo | None = None) -> list[Any]:
    """`loc` (past its leading "body") with the segments of tagged unions dropped."""
    out: list[Any] = []
    current: Any = _with_discriminator(body_type, body_info)
    for part in loc:
        members = _tagged_members(current) if current is not None else None
        if members is not None and part in members:
            current = members[part]  # the union's tag: not part of what the client sent
            continue
        out.append(part)
        current = _child(current, part) if current is not None else None
    return out


def _with_discriminator(annotation: Any, info: FieldInfo | None) -> Any:
    """A field's type, with the discriminator pydantic moved into its FieldInfo put back."""
    if info is None:
        return annotation
    found = info.discriminator
    if found is None:
        found = next((m for m in info.metadata if isinstance(m, Discriminator)), None)
    return annotation if found is None else Annotated[annotation, found]


def _tagged_members(annotation: Any) -> dict[Any, Any] | None:
    """{tag: member type} when `annotation` is a discriminated union, else None."""
    if get_origin(annotation) is not Annotated:
        return None
    inner, *metadata = get_args(annotation)
    discriminator = next((m for m in metadata if isinstance(m, (Discriminator, str))), None)
    if discriminator is None or get_origin(inner) not in _UNIONS:
        return None
    members: dict[Any, Any] = {}
    for member in get_args(inner):
        if get_origin(member) is Annotated:
            member_type, *member_meta = get_args(member)
            for meta in member_meta:
                if isinstance(meta, Tag):
                    members[meta.tag] = member_type
        elif isinstance(discriminator, str) and isinstance(member, type) and issubclass(member, BaseModel):
            field = member.model_fields.get(discriminator)  # Field(discriminator="kind"): Literal tags
            for tag in get_args(field.annotation) if field is not None else ():
                members[tag] = member
    return members


def _child(annotation: Any, part: Any) -> Any:
    """The type found at `part` inside `annotation`, or None where the walk cannot follow."""
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *_ = get_args(annotation)
        return _child(inner, part)
    if origin in _UNIONS:  # Optional[X]: the one member that is not None
        members = [a for a in get_args(annotation) if a is not type(None)]
        return _child(members[0], part) if len(members) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias, field.validation_alias):
                return _with_discriminator(field.annotation, field)
        return None
    if origin in (list, tuple, set, frozenset, Sequence) and isinstance(part, int):
        args = get_args(annotation)
        return args[0] if args else None
    if origin is dict:
        args = get_args(annotation)
        return args[1] if len(args) == 2 else None
    return None
