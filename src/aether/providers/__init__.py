"""Pluggable engines behind the agents: an offline default and real HTTP engines behind one interface."""
