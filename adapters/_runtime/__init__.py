"""What every adapter shares: errors, the HTTP retry policy, settings and the worker."""
