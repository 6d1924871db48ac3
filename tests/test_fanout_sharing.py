"""A fan-out decodes each Redis payload once per process and encodes each event frame once
(inbox.realtime.layers.RedisPubSubChannelLayer.deserialize, protocol.event_frame)."""

from __future__ import annotations

import json

from inbox.realtime.layers import RedisPubSubChannelLayer
from inbox.realtime.protocol import event_frame


def test_one_payload_object_is_decoded_once_and_equal_bytes_are_not_confused():
    layer = RedisPubSubChannelLayer(hosts=["redis://127.0.0.1:6379/0"])
    payload = layer.serialize({"type": "inbox.event", "event": {"id": "a"}})
    first = layer.deserialize(payload)
    assert layer.deserialize(payload) is first  # the same bytes object, queued per socket
    copy = bytes(bytearray(payload))  # equal bytes, another object: decoded afresh
    assert copy is not payload
    again = layer.deserialize(copy)
    assert again == first and again is not first
    other = layer.serialize({"type": "inbox.event", "event": {"id": "b"}})
    assert layer.deserialize(other)["event"] == {"id": "b"}


def test_an_event_frame_is_encoded_once_per_event_object():
    event = {"id": "e1", "data": {"text": "<b>hi</b>"}}
    text = event_frame(event)
    assert json.loads(text) == {"type": "event", "event": event}
    assert event_frame(event) is text
    twin = dict(event)  # equal content, another object (a replay): its own, equal frame
    assert event_frame(twin) == text


def test_frames_of_many_events_stay_right_as_the_cache_turns_over():
    events = [{"id": f"e{index}", "n": index} for index in range(200)]
    for event in events:
        assert json.loads(event_frame(event))["event"] == event
    assert json.loads(event_frame(events[0]))["event"] == events[0]
