"""Admin pages for issue #4 (dashboard), being written."""
