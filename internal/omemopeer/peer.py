#!/usr/bin/python3
"""Legacy OMEMO test peer for xchat's interoperability tests.

An independent OMEMO implementation (python-omemo + python-oldmemo over
slixmpp) that logs in to the test server, publishes its legacy OMEMO
device list and bundle, and then follows line commands on stdin:

    send JID TEXT              encrypt TEXT to every device of JID and send it
    join ROOM NICK             join a group chat
    sendroom ROOM JIDS TEXT    encrypt TEXT to every device of the members
                               JIDS (comma-separated) and send it to ROOM
    quit                       disconnect and exit

It reports on stdout, one JSON object per line:

    {"ready": true, "jid": ..., "device": ID, "fingerprint": HEX}
    {"from": JID, "device": ID, "body": TEXT}          a decrypted message
                                                       (with "room": ROOM for a
                                                       group message; from is
                                                       the sender's real JID)
    {"joined": ROOM}
    {"from": JID, "device": ID, "keytransport": true}  an empty OMEMO message
    {"sent": JID, "text": TEXT}
    {"error": TEXT, ...}

Usage: peer.py --jid J --password P --server HOST:PORT --ca CAFILE
The server address is used as given (no DNS); TLS (STARTTLS) is verified
against CAFILE and the JID's domain.
"""

import argparse
import asyncio
import json
import logging
import os
import sys
import threading
import types
import xml.etree.ElementTree as ET

# python-oldmemo's XML helpers validate against XML schemas with the
# optional xmlschema package, which Debian does not install with it. The
# elements xchat produces are checked by the Go tests; here a stand-in that
# accepts everything lets the helpers load.
if "xmlschema" not in sys.modules:
    try:
        import xmlschema  # noqa: F401
    except ImportError:
        shim = types.ModuleType("xmlschema")

        class _Schema:
            def __init__(self, *args, **kwargs):
                pass

            def validate(self, element):
                pass

        class XMLSchemaValidationError(Exception):
            pass

        shim.XMLSchema = _Schema
        shim.XMLSchema11 = _Schema
        shim.XMLSchemaValidationError = XMLSchemaValidationError
        sys.modules["xmlschema"] = shim

import omemo  # noqa: E402
import oldmemo  # noqa: E402
import oldmemo.etree  # noqa: E402
import slixmpp  # noqa: E402
import xeddsa  # noqa: E402
from slixmpp.exceptions import IqError, IqTimeout  # noqa: E402
from slixmpp.xmlstream.handler import Callback  # noqa: E402
from slixmpp.xmlstream.matcher import MatchXPath  # noqa: E402

NS = "eu.siacs.conversations.axolotl"
DEVICELIST_NODE = NS + ".devicelist"
BUNDLES_NODE = NS + ".bundles:"

CLIENT = None  # the XMPP client; the session manager's hooks are static


def emit(**obj):
    print(json.dumps(obj), flush=True)


class MemoryStorage(omemo.Storage):
    """Keeps python-omemo's state in memory: the peer lives for one test."""

    def __init__(self):
        super().__init__()
        self.data = {}

    async def _load(self, key):
        if key in self.data:
            return omemo.Just(self.data[key])
        return omemo.Nothing()

    async def _store(self, key, value):
        self.data[key] = value

    async def _delete(self, key):
        self.data.pop(key, None)


def publish_options():
    form = CLIENT["xep_0004"].make_form(ftype="submit")
    form.add_field(var="FORM_TYPE", ftype="hidden",
                   value="http://jabber.org/protocol/pubsub#publish-options")
    form.add_field(var="pubsub#access_model", value="open")
    return form


async def publish(node, payload):
    own = CLIENT.boundjid.bare
    try:
        await CLIENT["xep_0060"].publish(own, node, id="current", payload=payload,
                                         options=publish_options())
    except IqError as e:
        if e.iq["error"]["condition"] != "conflict":
            raise
        # precondition-not-met: the node exists with other settings.
        form = CLIENT["xep_0004"].make_form(ftype="submit")
        form.add_field(var="FORM_TYPE", ftype="hidden",
                       value="http://jabber.org/protocol/pubsub#node_config")
        form.add_field(var="pubsub#access_model", value="open")
        await CLIENT["xep_0060"].set_node_config(own, node, form)
        await CLIENT["xep_0060"].publish(own, node, id="current", payload=payload)


async def fetch_payload(jid, node, tag):
    iq = await CLIENT["xep_0060"].get_items(jid, node)
    for item in iq["pubsub"]["items"]:
        elt = item.xml.find("{%s}%s" % (NS, tag))
        if elt is not None:
            return elt
    return None


class Manager(omemo.SessionManager):
    @staticmethod
    async def _upload_bundle(bundle):
        try:
            await publish(BUNDLES_NODE + str(bundle.device_id), oldmemo.etree.serialize_bundle(bundle))
        except (IqError, IqTimeout) as e:
            raise omemo.BundleUploadFailed(str(e)) from e

    @staticmethod
    async def _download_bundle(namespace, bare_jid, device_id):
        try:
            elt = await fetch_payload(bare_jid, BUNDLES_NODE + str(device_id), "bundle")
        except IqError as e:
            if e.iq["error"]["condition"] in ("item-not-found", "forbidden"):
                raise omemo.BundleNotFound(str(e)) from e
            raise omemo.BundleDownloadFailed(str(e)) from e
        except IqTimeout as e:
            raise omemo.BundleDownloadFailed(str(e)) from e
        if elt is None:
            raise omemo.BundleNotFound("empty bundle node")
        try:
            return oldmemo.etree.parse_bundle(elt, bare_jid, device_id)
        except Exception as e:
            raise omemo.BundleDownloadFailed("malformed bundle: %r" % e) from e

    @staticmethod
    async def _delete_bundle(namespace, device_id):
        try:
            await CLIENT["xep_0060"].delete_node(CLIENT.boundjid.bare, BUNDLES_NODE + str(device_id))
        except (IqError, IqTimeout):
            pass

    @staticmethod
    async def _upload_device_list(namespace, device_list):
        try:
            await publish(DEVICELIST_NODE, oldmemo.etree.serialize_device_list(device_list))
        except (IqError, IqTimeout) as e:
            raise omemo.DeviceListUploadFailed(str(e)) from e

    @staticmethod
    async def _download_device_list(namespace, bare_jid):
        try:
            elt = await fetch_payload(bare_jid, DEVICELIST_NODE, "list")
        except IqError as e:
            if e.iq["error"]["condition"] in ("item-not-found", "forbidden"):
                return {}
            raise omemo.DeviceListDownloadFailed(str(e)) from e
        except IqTimeout as e:
            raise omemo.DeviceListDownloadFailed(str(e)) from e
        if elt is None:
            return {}
        return oldmemo.etree.parse_device_list(elt)

    async def _evaluate_custom_trust_level(self, device):
        # Blind trust: the tests exercise the cryptography, not trust UI.
        return omemo.TrustLevel.TRUSTED

    async def _make_trust_decision(self, undecided, identifier):
        for device in undecided:
            await self.set_trust(device.bare_jid, device.identity_key, "trusted")

    @staticmethod
    async def _send_message(message, bare_jid):
        send_encrypted(message, bare_jid)


def send_encrypted(message, bare_jid, mtype="chat"):
    stanza = CLIENT.make_message(mto=bare_jid, mtype=mtype)
    if mtype == "groupchat":
        stanza["body"] = "[OMEMO encrypted]"  # rooms drop messages without a body
    stanza.xml.append(oldmemo.etree.serialize_message(message))
    stanza.xml.append(ET.Element("{urn:xmpp:hints}store"))
    stanza.send()


class Peer(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.manager = None
        self.lock = asyncio.Lock()
        for plugin in ("xep_0004", "xep_0030", "xep_0045", "xep_0060"):
            self.register_plugin(plugin)
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.on_plain)
        # slixmpp's "message" event needs a <body>: key transports have none.
        self.register_handler(Callback("OMEMO", MatchXPath("{jabber:client}message/{%s}encrypted" % NS), self.on_message))

    async def start(self, _event):
        # Available presence, or the server keeps chat messages offline.
        self.send_presence()
        try:
            storage = MemoryStorage()
            self.manager = await Manager.create([oldmemo.Oldmemo(storage)], storage,
                                                self.boundjid.bare, None, "undecided")
            await self.manager.after_history_sync()
            own, _ = await self.manager.get_own_device_information()
            curve = xeddsa.ed25519_pub_to_curve25519_pub(own.identity_key)
            emit(ready=True, jid=self.boundjid.bare, device=own.device_id, fingerprint=curve.hex())
        except Exception as e:  # report, the test fails on it
            emit(error="setup failed: %r" % e)

    def on_plain(self, msg):
        if msg.xml.find("{%s}encrypted" % NS) is None:
            self.on_message(msg)

    def on_message(self, msg):
        elt = msg.xml.find("{%s}encrypted" % NS)
        room = None
        sender = msg["from"].bare
        if msg["type"] == "groupchat":
            room, nick = msg["from"].bare, msg["from"].resource
            muc = self["xep_0045"]
            if not nick or nick == muc.our_nicks.get(room):
                return  # the room itself, or our own message reflected
            real = muc.get_jid_property(room, nick, "jid")
            if elt is not None and not real:
                emit(error="no real JID for occupant", room=room, nick=nick)
                return
            sender = slixmpp.JID(real).bare if real else nick
        if elt is None:
            if msg["body"]:
                emit(error="plaintext message", room=room, **{"from": sender, "body": msg["body"]})
            return
        asyncio.ensure_future(self.decrypt(sender, elt, room))

    async def decrypt(self, sender, elt, room=None):
        async with self.lock:  # in arrival order, one at a time
            try:
                message = await oldmemo.etree.parse_message(elt, sender, self.boundjid.bare, self.manager)
                plaintext, device, _ = await self.manager.decrypt(message)
            except Exception as e:
                emit(error="decrypt failed: %r" % e, **{"from": sender})
                return
            if plaintext is None:
                emit(keytransport=True, device=device.device_id, **{"from": sender})
            elif room:
                emit(body=plaintext.decode("utf-8"), device=device.device_id, room=room, **{"from": sender})
            else:
                emit(body=plaintext.decode("utf-8"), device=device.device_id, **{"from": sender})

    async def send_text(self, jid, text):
        async with self.lock:
            try:
                # python-omemo learns device lists from PEP notifications,
                # which need a presence subscription: fetch explicitly.
                await self.manager.refresh_device_list(oldmemo.oldmemo.NAMESPACE, jid)
                messages, errors = await self.manager.encrypt(frozenset([jid]), {oldmemo.oldmemo.NAMESPACE: text.encode("utf-8")})
                for message in messages:
                    send_encrypted(message, jid)
                emit(sent=jid, text=text, errors=[repr(e) for e in errors])
            except Exception as e:
                emit(error="send failed: %r" % e, to=jid)

    async def join(self, room, nick):
        try:
            await self["xep_0045"].join_muc_wait(room, nick, maxstanzas=0, timeout=20)
            emit(joined=room)
        except Exception as e:
            emit(error="join failed: %r" % e, room=room)

    async def send_room(self, room, jids, text):
        async with self.lock:
            try:
                for jid in jids:
                    await self.manager.refresh_device_list(oldmemo.oldmemo.NAMESPACE, jid)
                messages, errors = await self.manager.encrypt(frozenset(jids), {oldmemo.oldmemo.NAMESPACE: text.encode("utf-8")})
                for message in messages:
                    send_encrypted(message, room, "groupchat")
                emit(sent=room, text=text, errors=[repr(e) for e in errors])
            except Exception as e:
                emit(error="send failed: %r" % e, to=room)

    def command(self, line):
        verb, _, rest = line.strip().partition(" ")
        if verb == "send":
            jid, _, text = rest.partition(" ")
            asyncio.ensure_future(self.send_text(jid, text))
        elif verb == "join":
            room, _, nick = rest.partition(" ")
            asyncio.ensure_future(self.join(room, nick))
        elif verb == "sendroom":
            room, _, rest = rest.partition(" ")
            jids, _, text = rest.partition(" ")
            asyncio.ensure_future(self.send_room(room, jids.split(","), text))
        elif verb == "quit":
            self.disconnect()
        elif verb:
            emit(error="unknown command", line=line)


def main():
    global CLIENT
    ap = argparse.ArgumentParser()
    ap.add_argument("--jid", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--server", required=True, help="HOST:PORT, STARTTLS")
    ap.add_argument("--ca", required=True, help="PEM file of the CA to trust")
    args = ap.parse_args()
    logging.basicConfig(level=os.environ.get("PEER_LOG_LEVEL", "WARNING"), stream=sys.stderr)

    host, _, port = args.server.rpartition(":")
    peer = Peer(args.jid, args.password)
    CLIENT = peer
    peer.ca_certs = args.ca
    loop = asyncio.get_event_loop()
    done = asyncio.Event()
    peer.add_event_handler("disconnected", lambda _e: done.set())

    def read_stdin():
        for line in sys.stdin:
            loop.call_soon_threadsafe(peer.command, line)
        loop.call_soon_threadsafe(peer.command, "quit")

    threading.Thread(target=read_stdin, daemon=True).start()
    peer.connect(address=(host.strip("[]"), int(port)), force_starttls=True)
    loop.run_until_complete(done.wait())


if __name__ == "__main__":
    main()
