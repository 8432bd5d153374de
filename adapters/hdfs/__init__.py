"""The HDFS source kind: a directory polled over WebHDFS, its changes as events."""
