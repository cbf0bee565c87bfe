"""One module per agent; each registers its task handlers with `aether.queue.tasks.task_handler`."""
