"""Routes for issue #4 (rewards), being written."""
