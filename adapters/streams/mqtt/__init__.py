"""MQTT event sources (paho-mqtt): persistent sessions, QoS 0/1/2, acks after delivery."""
