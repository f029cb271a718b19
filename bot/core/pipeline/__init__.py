"""One image job's way from a member's request to a delivered picture: the runner, the fair queue, the tracker."""
