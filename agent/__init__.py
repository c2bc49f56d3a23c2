"""The daemon behind the ``logtide`` command: config, engine, inputs, filters and parsers.

Imported as ``logtide.agent``; the library face is the ``logtide`` package itself.
"""
