"""Routes for issue #4 (activities), being written."""
