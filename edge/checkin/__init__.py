"""App check-ins (the iOS path): the CDP's signed proof (:mod:`.proof`) and the presence it makes
(:mod:`.app_presence`)."""
