"""What pictures can be asked for and how they are handled: the model catalogue, server settings, encoding."""
