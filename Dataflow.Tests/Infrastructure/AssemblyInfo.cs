// The fixtures run Debian server packages and rely on Linux process semantics (setpriv, signals).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
