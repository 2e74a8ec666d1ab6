"""Word frequency by word length: the top 10 words of every length 1-20 over one big text object.

Pure pieces: ``wordcount`` (tokenize, partition by length, merge a top-k), ``reference`` (the
single-process golden answer), ``textgen`` (deterministic English-like text of any size).
"""
