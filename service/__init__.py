"""The firth HTTP service: loads model artifacts into FAISS indexes and answers lookups,
similarities, neighbours, analogies and evaluations with gensim's semantics."""
