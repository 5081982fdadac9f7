"""Facts measured around the servers: the machine, its memory bandwidth (the single-stream
decode bound) and the raw in-process llama.cpp figures of --raw-cmd."""
