"""Healthcare security (`nhsa`): the child's resident medical insurance enrolment."""
