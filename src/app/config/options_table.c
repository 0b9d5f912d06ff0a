/* options_table.c -- allium's option table: every option allium
 * implements, with tor's name, type and default (tor(1), the option list of
 * tor 0.4.9), and the names of tor options accepted but not implemented
 * yet (tor_options_known.inc, generated from tor --list-torrc-options).
 */
#include "options_table.h"

#include <stddef.h>

#define OFF(f) offsetof(allium_options_t, f)
/* Plain row. */
#define V(name, type, dflt, doc) \
  { #name, CONF_TYPE_##type, OFF(name), dflt, doc, 0, 0, NULL, 0 }
/* Numeric row with limits. */
#define VR(name, type, dflt, min, max, doc) \
  { #name, CONF_TYPE_##type, OFF(name), dflt, doc, min, max, NULL, 0 }
/* Row with flags. */
#define VF(name, type, dflt, flags, doc) \
  { #name, CONF_TYPE_##type, OFF(name), dflt, doc, 0, 0, NULL, flags }
/* Onion service row: all share the HiddenServiceOptions list. */
#define VHS(name, doc) \
  { #name, CONF_TYPE_LINELIST, OFF(HiddenServiceOptions), NULL, doc, 0, 0, \
    NULL, 0 }

static const char *const safelogging_words[] = { "0", "1", "relay", NULL };

static const conf_var_t option_vars[] = {
  /* General */
  V(DataDirectory, FILENAME, NULL,
    "Directory for keys and state (required for relays)"),
  V(CacheDirectory, FILENAME, NULL,
    "Directory for cached directory documents (default: DataDirectory)"),
  V(KeyDirectory, FILENAME, NULL,
    "Directory for keys (default: DataDirectory/keys)"),
  V(DataDirectoryGroupReadable, BOOL, "0",
    "Let the group read the DataDirectory"),
  V(Log, LINELIST, NULL,
    "Log destination: minsev[-maxsev] stderr|stdout|syslog|file PATH"),
  VR(LogTimeGranularity, MSEC_INTERVAL, "1 second", 1, 2147483647,
     "Round log timestamps to this granularity"),
  V(TruncateLogFile, BOOL, "0", "Truncate log files on startup and SIGHUP"),
  V(RunAsDaemon, BOOL, "0", "Detach from the terminal and run in the background"),
  V(PidFile, FILENAME, NULL, "Write the process id to this file"),
  V(User, STRING, NULL, "Switch to this user after startup"),
  { "SafeLogging", CONF_TYPE_CHOICE, OFF(SafeLogging), "1",
    "Scrub sensitive strings from logs: 0, 1 or relay", 0, 0,
    safelogging_words, 0 },
  V(Sandbox, BOOL, "0", "Syscall sandbox (not supported: must be 0)"),
  V(DisableDebuggerAttachment, BOOL, "1",
    "Refuse debugger attachment and core dumps"),
  V(AvoidDiskWrites, BOOL, "0", "Write to disk less often"),
  V(DisableNetwork, BOOL, "0", "Make no network connections and accept none"),
  VR(HeartbeatPeriod, INTERVAL, "6 hours", 0, 2147483647,
     "Log a heartbeat message this often (0 disables)"),
  VR(ShutdownWaitLength, INTERVAL, "30 seconds", 0, 2147483647,
     "Relay shutdown delay after SIGINT"),
  VR(NumCPUs, INT, "0", 0, 128, "Worker threads for crypto (0: guess)"),
  VR(ConnLimit, INT, "1000", 0, 2147483647,
     "Minimum number of file descriptors required"),
  V(MaxMemInQueues, MEMORY, "0",
    "Memory for queued cells before closing circuits (0: automatic)"),
  VR(KeepalivePeriod, INTERVAL, "5 minutes", 1, 2147483647,
     "Send a keepalive cell on idle connections this often"),
  V(ProtocolWarnings, BOOL, "0", "Log protocol violations at warn severity"),
  V(BandwidthRate, MEMORY, "1 GB", "Average bandwidth per second"),
  V(BandwidthBurst, MEMORY, "1 GB", "Maximum bandwidth burst"),
  V(RelayBandwidthRate, MEMORY, "0",
    "Average relayed bandwidth per second (0: BandwidthRate)"),
  V(RelayBandwidthBurst, MEMORY, "0",
    "Maximum relayed bandwidth burst (0: BandwidthBurst)"),
  V(MaxAdvertisedBandwidth, MEMORY, "1 GB",
    "Advertise at most this bandwidth in the descriptor"),
  VF(DirAuthority, LINELIST, "(built in)", CONF_FLAG_BUILTIN_DEFAULT,
     "Directory authority: nickname [flags] address:port fingerprint"),
  VF(AlternateDirAuthority, LINELIST, "(built in)", CONF_FLAG_BUILTIN_DEFAULT,
     "Directory authority that replaces only the default directory ones"),
  V(AlternateBridgeAuthority, LINELIST, NULL,
    "Bridge authority that replaces only the default bridge ones"),
  VF(FallbackDir, LINELIST, "(built in)", CONF_FLAG_BUILTIN_DEFAULT,
     "Fallback directory: address[:dirport] orport=N id=FP [weight=N] [ipv6=]"),
  V(UseDefaultFallbackDirs, BOOL, "1",
    "Use the built-in fallback directories when no FallbackDir is set"),
  V(TestingTorNetwork, BOOL, "0",
    "Test-network mode: shorter timers, private addresses allowed"),
  V(ConnectionPadding, AUTOBOOL, "auto", "Pad idle OR connections"),
  V(ReducedConnectionPadding, BOOL, "0", "Pad less (mobile clients)"),
  V(CircuitPadding, BOOL, "1", "Use circuit-level padding machines"),
  /* Control */
  V(ControlPort, PORTLIST, NULL, "Control protocol listener"),
  V(CookieAuthentication, BOOL, "0", "Authenticate controllers with a cookie file"),
  V(CookieAuthFile, FILENAME, NULL,
    "Cookie file (default: DataDirectory/control_auth_cookie)"),
  V(CookieAuthFileGroupReadable, BOOL, "0", "Let the group read the cookie file"),
  VF(HashedControlPassword, LINELIST, NULL, CONF_FLAG_SENSITIVE,
     "Controller password hash (16:...)"),
  V(ControlPortWriteToFile, FILENAME, NULL,
    "Write the control listener addresses to this file"),
  V(ControlPortFileGroupReadable, BOOL, "0",
    "Let the group read ControlPortWriteToFile"),
  /* Client */
  V(SocksPort, PORTLIST, "9050", "SOCKS listener: [address:]port|auto|unix:path [flags]"),
  V(HTTPTunnelPort, PORTLIST, NULL, "HTTP CONNECT listener"),
  V(SocksPolicy, LINELIST, NULL, "Who may connect to SocksPort: accept|reject pattern"),
  V(SafeSocks, BOOL, "0", "Refuse SOCKS requests that carry an IP address"),
  V(TestSocks, BOOL, "0", "Log whether each SOCKS request was safe"),
  V(WarnUnsafeSocks, BOOL, "1", "Warn about SOCKS requests that carry an IP address"),
  VR(SocksTimeout, INTERVAL, "2 minutes", 1, 2147483647,
     "Give up on an unattached SOCKS connection after this long"),
  V(ClientOnly, BOOL, "0", "Never act as a relay"),
  V(UseMicrodescriptors, AUTOBOOL, "auto", "Fetch microdescriptors"),
  V(UseEntryGuards, BOOL, "1", "Use long-term entry guards"),
  VR(NumEntryGuards, INT, "0", 0, 64, "Number of primary guards (0: consensus)"),
  VR(GuardLifetime, INTERVAL, "0", 0, 2147483647,
     "How long to keep a guard (0: consensus)"),
  V(EntryNodes, CSV, NULL, "Prefer these nodes as the first hop"),
  V(ExitNodes, CSV, NULL, "Prefer these nodes as the last hop"),
  V(ExcludeNodes, CSV, NULL, "Never use these nodes"),
  V(ExcludeExitNodes, CSV, NULL, "Never use these nodes as the last hop"),
  V(StrictNodes, BOOL, "0", "Treat ExcludeNodes as a hard requirement"),
  V(EnforceDistinctSubnets, BOOL, "1", "Never pick two relays of one /16"),
  VR(CircuitBuildTimeout, INTERVAL, "60 seconds", 0, 2147483647,
     "Circuit build timeout when not learned"),
  V(LearnCircuitBuildTimeout, BOOL, "1", "Learn the circuit build timeout"),
  VR(CircuitStreamTimeout, INTERVAL, "0", 0, 2147483647,
     "Stream attach timeout before trying another circuit (0: adaptive)"),
  VR(NewCircuitPeriod, INTERVAL, "30 seconds", 0, 2147483647,
     "Consider building a new circuit this often"),
  VR(MaxCircuitDirtiness, INTERVAL, "10 minutes", 0, 2147483647,
     "Reuse a circuit for new streams for at most this long"),
  V(LongLivedPorts, CSV,
    "21,22,706,1863,5050,5190,5222,5223,6523,6667,6697,8300",
    "Ports that need stable circuits"),
  V(FetchDirInfoEarly, BOOL, "0", "Fetch directory info on the mirror schedule"),
  V(FetchDirInfoExtraEarly, BOOL, "0",
    "Fetch directory info as early as authorities allow"),
  V(ClientUseIPv4, BOOL, "1", "Connect to relays over IPv4"),
  V(ClientUseIPv6, BOOL, "1", "Connect to relays over IPv6"),
  V(ClientPreferIPv6ORPort, AUTOBOOL, "auto", "Prefer relays' IPv6 ORPort"),
  V(ConfluxEnabled, AUTOBOOL, "auto", "Use conflux (multipath) circuits"),
  /* Relay */
  V(ORPort, PORTLIST, NULL, "Relay listener: [address:]port|auto [flags]"),
  V(DirPort, PORTLIST, NULL, "Directory listener: [address:]port|auto"),
  V(Address, LINELIST, NULL, "Our public IPv4 and/or IPv6 address or hostname"),
  V(AddressDisableIPv6, BOOL, "0", "Never guess or publish an IPv6 address"),
  V(Nickname, STRING, NULL, "Relay nickname: 1-19 letters and digits"),
  V(ContactInfo, STRING, NULL, "Operator contact, published in the descriptor"),
  V(MyFamily, LINELIST, NULL, "Relays run by the same operator"),
  V(ExitRelay, AUTOBOOL, "auto", "Allow exit traffic"),
  V(ExitPolicy, LINELIST, NULL, "accept|reject[6] address[/mask][:port[-port]], ..."),
  V(ExitPolicyRejectPrivate, BOOL, "1", "Reject exits to private addresses"),
  V(ExitPolicyRejectLocalInterfaces, BOOL, "0",
    "Reject exits to our own interface addresses"),
  V(ReducedExitPolicy, BOOL, "0", "Use tor's reduced exit policy"),
  V(IPv6Exit, BOOL, "0", "Allow exits to IPv6 addresses"),
  V(AssumeReachable, BOOL, "0", "Skip the ORPort reachability self-test"),
  V(DirCache, BOOL, "1", "Serve directory documents"),
  V(BridgeRelay, BOOL, "0", "Act as a bridge"),
  V(PublishServerDescriptor, CSV, "1",
    "Where to publish the descriptor: 0, 1, v3, bridge"),
  /* Onion services */
  VHS(HiddenServiceDir, "Onion service directory (starts a service block)"),
  VHS(HiddenServicePort, "VIRTPORT [TARGET] for the current onion service"),
  VHS(HiddenServiceVersion, "Onion service version (only 3)"),
  VHS(HiddenServiceAllowUnknownPorts, "Keep circuits to unknown ports open"),
  VHS(HiddenServiceMaxStreams, "Most streams per rendezvous circuit"),
  VHS(HiddenServiceMaxStreamsCloseCircuit,
      "Close the circuit when MaxStreams is exceeded"),
  VHS(HiddenServiceDirGroupReadable, "Let the group read the service dir"),
  VHS(HiddenServiceNumIntroductionPoints, "Introduction points (1-20)"),
};

static const conf_alias_t option_aliases[] = {
  { "MaxConn", "ConnLimit" },
  { "BandwidthRateBytes", "BandwidthRate" },
  { "BandwidthBurstBytes", "BandwidthBurst" },
  { "DirServer", "DirAuthority" },
};

const char *const options_tor_known[] = {
#include "tor_options_known.inc"
  NULL
};
const size_t options_tor_known_count =
  sizeof(options_tor_known) / sizeof(options_tor_known[0]) - 1;

const conf_format_t options_format = {
  sizeof(allium_options_t),
  option_vars, sizeof(option_vars) / sizeof(option_vars[0]),
  option_aliases, sizeof(option_aliases) / sizeof(option_aliases[0]),
  options_tor_known,
  sizeof(options_tor_known) / sizeof(options_tor_known[0]) - 1,
};
