"""Routes for issue #4 (friends), being written."""
