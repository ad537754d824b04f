"""What trainer and service share: the model artifact format, vector math with gensim's
semantics, query standardisation and evaluation. No I/O beyond the artifact files, no HTTP."""
