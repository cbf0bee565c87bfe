"""Security: credential encryption, password hashing, sessions, roles."""
