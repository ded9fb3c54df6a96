"""Public security (`mps`): household registration (户口登记) and the citizen ID, after review."""
