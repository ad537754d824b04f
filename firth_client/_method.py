"""One definition of each client method for both clients.

An operation function (`firth_client._system.health`, `_neighbors.most_similar`, ...) takes the
client's model and the method's arguments and returns the `Call` to send; it owns the method's
signature, defaults and docstring. `ClientMethod(operation)`, a class attribute of ClientBase,
turns it into a method of each client: blocking on FirthClient, a coroutine function on
AsyncFirthClient (chosen by the client's `_run`), so the two clients only send. The same idea as
motor's metaprogrammed methods, typed: the `__get__` overloads give mypy each client's exact
signature (ParamSpec) and return type.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from firth_client._calls import Call

if TYPE_CHECKING:
    from firth_client._async import AsyncFirthClient
    from firth_client._sync import FirthClient

P = ParamSpec("P")
T = TypeVar("T")


class ClientMethod(Generic[P, T]):
    def __init__(self, operation: Callable[Concatenate[str, P], Call[T]]) -> None:
        self._operation = operation
        self._methods: dict[type, Callable[..., Any]] = {}  # one function per client class

    @overload
    def __get__(self, client: None, owner: type) -> Any: ...
    @overload
    def __get__(self, client: FirthClient, owner: type) -> Callable[P, T]: ...
    @overload
    def __get__(self, client: AsyncFirthClient, owner: type) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, client: Any, owner: type) -> Any:
        if not hasattr(owner, "_run"):
            return self  # ClientBase itself: no way to send, so no method yet
        method = self._methods.get(owner)
        if method is None:
            method = self._methods[owner] = self._method_for(owner)
        return method if client is None else types.MethodType(method, client)

    def _method_for(self, owner: type) -> Callable[..., Any]:
        operation = self._operation
        method: Any  # a function, given a name, docstring and signature below
        if inspect.iscoroutinefunction(owner._run):  # type: ignore[attr-defined]

            async def method(client: Any, /, *args: Any, **kwargs: Any) -> Any:
                return await client._run(operation(client.model, *args, **kwargs))

        else:

            def method(client: Any, /, *args: Any, **kwargs: Any) -> Any:
                return client._run(operation(client.model, *args, **kwargs))

        # what help() and inspect show: the operation's name, docstring and arguments, the Call's result
        method.__name__ = operation.__name__
        method.__qualname__ = f"{owner.__qualname__}.{operation.__name__}"
        method.__doc__ = operation.__doc__
        method.__module__ = owner.__module__
        hints = typing.get_type_hints(operation)
        parameters = list(inspect.signature(operation).parameters.values())[1:]  # after the model
        method.__signature__ = inspect.Signature(
            [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
            + [p.replace(annotation=hints.get(p.name, p.annotation)) for p in parameters],
            return_annotation=typing.get_args(hints["return"])[0],  # Call[T] -> T
        )
        return method
