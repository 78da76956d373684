"""Admin pages for issue #4 (content), being written."""
