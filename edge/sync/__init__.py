"""MQTT sync with the CDP: the durable outbox drain (uplink) and the downlinks (roster, offers,
rules, config, consent withdrawal, check-in). :class:`edge.sync.link.MqttSync` assembles it."""
