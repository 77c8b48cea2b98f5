using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.State
{
    /// <summary>A real redis-server (Debian's package; .ci/run installs it) on a free loopback port, with its append-only
    /// file flushed on every write, in a temporary folder; killed and its folder removed on Dispose. Restart keeps the port
    /// and the folder, as a server that crashed and came back.</summary>
    public sealed class RedisServer : IDisposable
    {
        private readonly TempDir _dir = new TempDir();
        private readonly string[] _extra;
        private Process? _process;
        private readonly List<string> _output = new List<string>();

        public RedisServer(bool tls = false, params string[] extra)
        {
            _extra = extra;
            Tls = tls ? TestCertificates.Create(_dir.Path) : null;
            Port = FreePort();
            Start();
        }

        public int Port { get; }
        public string Directory => _dir.Path;
        public TestCertificates? Tls { get; }
        public string Uri => (Tls != null ? "rediss" : "redis") + "://127.0.0.1:" + Port;

        public static string Executable
        {
            get
            {
                foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Append("/usr/bin").Append("/usr/sbin"))
                {
                    var path = Path.Combine(dir, "redis-server");
                    if (File.Exists(path)) return path;
                }
                throw new InvalidOperationException("redis-server is not installed: the Redis store's tests need it (apt-get install redis-server; .ci/run installs it).");
            }
        }

        public void Start()
        {
            var start = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            var args = new List<string>
            {
                "--bind", "127.0.0.1", "--dir", _dir.Path, "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                "--daemonize", "no", "--logfile", "", "--databases", "16",
            };
            if (Tls != null)
            {
                args.AddRange(new[]
                {
                    "--port", "0", "--tls-port", Port.ToString(), "--tls-cert-file", Tls.ServerCertificate, "--tls-key-file", Tls.ServerKey,
                    "--tls-ca-cert-file", Tls.Authority, "--tls-auth-clients", "no",
                });
            }
            else
            {
                args.AddRange(new[] { "--port", Port.ToString() });
            }
            args.AddRange(_extra);
            foreach (var arg in args) start.ArgumentList.Add(arg);
            var ready = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var process = Process.Start(start.OnRealClock())!;
            void OnLine(string? line)
            {
                if (line == null) return;
                lock (_output) _output.Add(line);
                if (line.Contains("Ready to accept connections")) ready.TrySetResult(true);
            }
            process.OutputDataReceived += (_, e) => OnLine(e.Data);
            process.ErrorDataReceived += (_, e) => OnLine(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _process = process;
            var done = Task.WhenAny(ready.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(30))).GetAwaiter().GetResult();
            if (done != ready.Task)
            {
                Kill();
                lock (_output) throw new InvalidOperationException("redis-server did not start:\n" + string.Join("\n", _output.TakeLast(30)));
            }
        }

        /// <summary>Kills the server at once (SIGKILL, as a crash): what its append-only file holds is all that survives.</summary>
        public void Kill()
        {
            var process = _process;
            _process = null;
            if (process == null) return;
            try
            {
                if (!process.HasExited) process.Kill();
                process.WaitForExit();
            }
            catch (InvalidOperationException)
            {
            }
            process.Dispose();
        }

        public void Restart()
        {
            Kill();
            Start();
        }

        /// <summary>Runs one command on the server as its default user (ACL SETUSER, CONFIG SET).</summary>
        public async Task<string> AdminAsync(params string[] command) => (await AdminResultAsync(command)).ToString() ?? "";

        public async Task<string[]> AdminListAsync(params string[] command) =>
            ((StackExchange.Redis.RedisResult[])(await AdminResultAsync(command))!).Select(r => r.ToString() ?? "").ToArray();

        private StackExchange.Redis.ConnectionMultiplexer? _admin;

        private async Task<StackExchange.Redis.RedisResult> AdminResultAsync(string[] command)
        {
            if (_admin == null)
            {
                var options = new StackExchange.Redis.ConfigurationOptions
                {
                    EndPoints = { { "127.0.0.1", Port } }, AllowAdmin = true, Ssl = Tls != null, SslHost = "127.0.0.1", AbortOnConnectFail = true,
                };
                if (Tls != null) options.TrustIssuer(Tls.Authority);
                _admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(options);
            }
            return await _admin.GetDatabase().ExecuteAsync(command[0], command.Skip(1).Cast<object>().ToArray());
        }

        public void Dispose()
        {
            Kill();
            _admin?.Close(allowCommandsToComplete: false);
            _admin?.Dispose();
            _dir.Dispose();
        }

        public static int FreePort()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            return port;
        }
    }

    /// <summary>A self-signed authority and a server certificate it issued for 127.0.0.1 and localhost, as PEM files.</summary>
    public sealed class TestCertificates
    {
        private TestCertificates(string authority, string certificate, string key)
        {
            Authority = authority;
            ServerCertificate = certificate;
            ServerKey = key;
        }

        public string Authority { get; }
        public string ServerCertificate { get; }
        public string ServerKey { get; }

        public static TestCertificates Create(string dir)
        {
            using var caKey = System.Security.Cryptography.RSA.Create(2048);
            var caRequest = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=HexCost test CA", caKey,
                System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
            caRequest.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, false, 0, true));
            caRequest.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509KeyUsageExtension(
                System.Security.Cryptography.X509Certificates.X509KeyUsageFlags.KeyCertSign | System.Security.Cryptography.X509Certificates.X509KeyUsageFlags.CrlSign, true));
            using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

            using var serverKey = System.Security.Cryptography.RSA.Create(2048);
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=127.0.0.1", serverKey,
                System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
            var names = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            names.AddDnsName("localhost");
            request.CertificateExtensions.Add(names.Build());
            request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension(
                new System.Security.Cryptography.OidCollection { new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1") }, false));
            var serial = new byte[8];
            System.Security.Cryptography.RandomNumberGenerator.Fill(serial);
            using var server = request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(29), serial);

            var authority = Path.Combine(dir, "ca.pem");
            var certificate = Path.Combine(dir, "server.pem");
            var key = Path.Combine(dir, "server.key");
            File.WriteAllText(authority, ca.ExportCertificatePem());
            File.WriteAllText(certificate, server.ExportCertificatePem());
            File.WriteAllText(key, serverKey.ExportPkcs8PrivateKeyPem());
            return new TestCertificates(authority, certificate, key);
        }
    }
}
