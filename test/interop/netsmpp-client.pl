#!/usr/bin/perl
# An independent SMPP 3.4 client (Debian's Net::SMPP) driven by test/interop/netsmpp-client.test.ts.
# Usage: netsmpp-client.pl HOST PORT SYSTEM_ID PASSWORD
# Prints one "key value" line per observation on stdout, "READY" when it waits for a deliver_sm
# from the SMSC, and "DONE" at the end. Any failure dies with a message on stderr (exit != 0).
use strict;
use warnings;
use Net::SMPP;

$| = 1;
my ($host, $port, $system_id, $password) = @ARGV;
die "usage: $0 HOST PORT SYSTEM_ID PASSWORD\n" unless defined $password;

# Never hang the test run: the whole conversation gets 20 seconds.
$SIG{ALRM} = sub { die "timeout\n" };
alarm 20;

sub out { my ($k, $v) = @_; print "$k ", (defined $v ? $v : '(undef)'), "\n"; }

my ($smpp, $resp) = Net::SMPP->new_transceiver(
    $host,
    port        => $port,
    system_id   => $system_id,
    password    => $password,
    system_type => 'PERL',
    timeout     => 5,
);
die "connect/bind failed: $!\n" unless $smpp && $resp;
out('bind_cmd', sprintf('0x%08x', $resp->{cmd}));
out('bind_status', $resp->{status});
out('bind_seq', $resp->{seq});
out('bind_system_id', $resp->{system_id});
out('bind_sc_interface_version',
    defined $resp->{sc_interface_version} ? sprintf('0x%02x', unpack('C', $resp->{sc_interface_version})) : 'none');

my $r = $smpp->submit_sm(
    service_type            => 'CMT',
    source_addr_ton         => 1,
    source_addr_npi         => 1,
    source_addr             => '46701110000',
    dest_addr_ton           => 1,
    dest_addr_npi           => 1,
    destination_addr        => '46702220000',
    esm_class               => 0,
    protocol_id             => 0,
    priority_flag           => 1,
    schedule_delivery_time  => '',
    validity_period         => '000001000000000R',
    registered_delivery     => 1,
    replace_if_present_flag => 0,
    data_coding             => 0,
    sm_default_msg_id       => 0,
    short_message           => 'Hello from Net::SMPP',
    user_message_reference  => pack('n', 777),
) or die "submit_sm: no response\n";
out('submit_cmd', sprintf('0x%08x', $r->{cmd}));
out('submit_status', $r->{status});
out('submit_seq', $r->{seq});
out('submit_message_id', $r->{message_id});
my $message_id = $r->{message_id};

$r = $smpp->enquire_link() or die "enquire_link: no response\n";
out('enquire_cmd', sprintf('0x%08x', $r->{cmd}));
out('enquire_status', $r->{status});
out('enquire_seq', $r->{seq});

$r = $smpp->query_sm(
    message_id      => $message_id,
    source_addr_ton => 1,
    source_addr_npi => 1,
    source_addr     => '46701110000',
) or die "query_sm: no response\n";
out('query_cmd', sprintf('0x%08x', $r->{cmd}));
out('query_status', $r->{status});
out('query_message_id', $r->{message_id});
out('query_message_state', $r->{message_state});
out('query_error_code', $r->{error_code});
out('query_final_date', $r->{final_date} eq '' ? 'empty' : $r->{final_date});

print "READY\n";

my $pdu = $smpp->read_pdu() or die "read_pdu failed\n";
out('deliver_cmd', sprintf('0x%08x', $pdu->{cmd}));
out('deliver_seq', $pdu->{seq});
out('deliver_source_addr', $pdu->{source_addr});
out('deliver_destination_addr', $pdu->{destination_addr});
out('deliver_esm_class', $pdu->{esm_class});
out('deliver_short_message', $pdu->{short_message});
out('deliver_receipted_message_id',
    defined $pdu->{receipted_message_id} ? unpack('Z*', $pdu->{receipted_message_id}) : 'none');
$smpp->deliver_sm_resp(seq => $pdu->{seq}, message_id => '') or die "deliver_sm_resp failed\n";

$r = $smpp->unbind() or die "unbind: no response\n";
out('unbind_cmd', sprintf('0x%08x', $r->{cmd}));
out('unbind_status', $r->{status});

print "DONE\n";
exit 0;
