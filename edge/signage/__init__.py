"""Personalised signage: the offer decision engine, the pygame player, proof of play.

Pure parts (:mod:`offers`, :mod:`caps`, :mod:`decide`) take ``now`` and touch no file, socket or
loop; :mod:`player` runs pygame in its own process; :mod:`service` wires them into the gateway.
"""
