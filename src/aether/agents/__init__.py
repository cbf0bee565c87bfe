"""One module per agent; each registers its task handlers with `aether.queue.registry.task_handler`."""
