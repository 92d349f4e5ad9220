"""The home gateway: device-native payloads in, the wire contract out, nothing lost on the way.

A home or care-home hub runs ``eldercare gateway``: it subscribes to the local zigbee2mqtt and
OwnTracks topics, translates them with tables of mappings (:mod:`gateway.zigbee`,
:mod:`gateway.owntracks`), stores every translated message in a disk-backed spool
(:mod:`gateway.spool`) and forwards it upstream at QoS 1, deleting it only after the platform's
broker acknowledged it. Commands travel the other way (:mod:`gateway.commands`).
``eldercare devices provision`` (:mod:`gateway.provision`) writes per-device broker credentials and
ACLs. The operator's guide is docs/gateway.md.
"""
