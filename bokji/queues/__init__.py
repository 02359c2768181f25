"""Work queues: a person's, their team's and their office's open tasks, filtered, sorted and paged."""
