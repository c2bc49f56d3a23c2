"""logtide: a pure-Python, Fluent Bit-compatible log shipper."""
