"""Routes for issue #4 (content), being written."""
