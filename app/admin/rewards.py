"""Admin pages for issue #4 (rewards), being written."""
