"""Healthcare security's employee maternity scheme (`nhsa`): the maternity allowance."""
