"""Human resources and social security (`hrss`): the social security card, made later."""
