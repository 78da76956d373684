"""Routes for issue #4 (stats), being written."""
