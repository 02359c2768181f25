"""Payment set-up: what a granted case pays (or provides), to whom, from when. Payment runs come later."""
