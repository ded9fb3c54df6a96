"""The parents' side: the tracking page, its live stream, and the words both use
(and the text messages too): `texts` (Chinese and English), `view` (what a
parent sees of a birth), `guard` (verification and rate limit), `stream`
(server-sent events), `page` (the HTML page and its assets)."""
