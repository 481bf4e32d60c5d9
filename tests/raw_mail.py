"""Reading mail as bytes, the way a mailbox provider does: no ``email`` decoding policy.

Headers are unfolded and split by hand; parts are found by their boundary; subjects are
decoded by Perl's Encode (MIME-Header) and by SpamAssassin's own parser, and SpamAssassin
(local tests only) scores each message, all in one Perl process so its rules load once.
"""

from __future__ import annotations

import base64
import os
import quopri
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

JUDGE = r"""
use strict; use warnings;
use Encode qw(decode encode);
use Mail::SpamAssassin;
my $sa = Mail::SpamAssassin->new({local_tests_only => 1, dont_copy_prefs => 1,
    userstate_dir => $ENV{HOME}, home_dir_for_helpers => $ENV{HOME}});
$sa->init(1);
sub hexed { my ($s) = @_; $s = encode("UTF-8", $s) if utf8::is_utf8($s); unpack("H*", $s) }
for my $path (@ARGV) {
    open(my $fh, "<:raw", $path) or die "$path: $!";
    my $raw = do { local $/; <$fh> }; close $fh;
    my ($head) = split /\r\n\r\n/, $raw, 2;
    $head =~ s/\r\n([ \t])/$1/g;
    $head =~ s/\r\n/\n/g;
    my ($subject) = $head =~ /^Subject: (.*)$/mi;
    my $message = $sa->parse($raw);
    my $status = $sa->check($message);
    my $by_sa = $message->get_header("Subject"); chomp $by_sa;
    print join("\t", $path, $status->get_score(), scalar $status->get_names_of_tests_hit(),
               hexed(decode("MIME-Header", $subject)), hexed($by_sa)), "\n";
    $status->finish(); $message->finish();
}
"""


@dataclass(frozen=True)
class Verdict:
    """SpamAssassin's score and rules for one message, and its subject as Perl decoded it."""

    score: float
    rules: str
    subject_by_encode: str
    subject_by_spamassassin: str


def judge(files: list[Path], home: Path) -> dict[Path, Verdict]:
    """SpamAssassin's verdict on each file (``home`` keeps its state out of the real one)."""
    result = subprocess.run(
        ["perl", "-e", JUDGE, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HOME": str(home)},
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    found = {}
    for line in result.stdout.splitlines():
        path, score, rules, by_encode, by_sa = line.split("\t")
        found[Path(path)] = Verdict(
            float(score), rules, bytes.fromhex(by_encode).decode(), bytes.fromhex(by_sa).decode()
        )
    return found


def headers(path: Path) -> list[tuple[str, str]]:
    """(lower-case name, unfolded value) of each top-level header, as bytes on disk say."""
    head = path.read_bytes().split(b"\r\n\r\n", 1)[0]
    unfolded = re.sub(rb"\r\n[ \t]", b" ", head).decode("utf-8")
    return [
        (name.lower(), value)
        for name, _, value in (line.partition(": ") for line in unfolded.split("\r\n"))
    ]


def header(path: Path, name: str) -> str:
    (value,) = [value for found, value in headers(path) if found == name]
    return value


def html_part(path: Path) -> tuple[str, bytes, str]:
    """The HTML part's encoding, its payload as on disk, and its decoded text."""
    raw = path.read_bytes()
    boundary = re.search(rb'boundary="([^"]+)"', raw)
    assert boundary
    for part in raw.split(b"--" + boundary[1]):
        head, _, payload = part.partition(b"\r\n\r\n")
        if b"Content-Type: text/html" in head:
            encoding = re.search(rb"Content-Transfer-Encoding: (\S+)", head)
            assert encoding
            payload = payload.removesuffix(b"\r\n")
            return encoding[1].decode(), payload, decoded(encoding[1].decode(), payload)
    raise AssertionError(f"{path}: no HTML part")


def decoded(encoding: str, payload: bytes) -> str:
    if encoding == "base64":
        return base64.b64decode(payload).decode()
    return (quopri.decodestring(payload) if encoding == "quoted-printable" else payload).decode()
