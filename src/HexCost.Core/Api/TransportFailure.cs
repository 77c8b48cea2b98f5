using System;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Threading;
using Polly.Timeout;

namespace HexCost.Api
{
    /// <summary>Why a request got no HTTP answer at all.</summary>
    public enum TransportCause
    {
        ConnectionRefused,
        NameResolution,
        TlsHandshake,
        TlsCertificate,
        Timeout,
        ConnectionLost,
        Other,
    }

    /// <summary>A request that got no HTTP answer, read from the exception .NET gave: the likely cause, and whether the
    /// request can have reached the server (a refused connection, a name that does not resolve or a failed TLS handshake
    /// never does, so a RunProject that failed that way created no run).</summary>
    public sealed class TransportFailure
    {
        private TransportFailure(TransportCause cause, bool requestMayHaveArrived)
        {
            Cause = cause;
            RequestMayHaveArrived = requestMayHaveArrived;
        }

        public TransportCause Cause { get; }

        public bool RequestMayHaveArrived { get; }

        /// <summary>Trying again cannot help: the server speaks no TLS on this port, or its certificate is not trusted.</summary>
        public bool IsPermanent => Cause == TransportCause.TlsHandshake || Cause == TransportCause.TlsCertificate;

        /// <summary>The failure, or null when <paramref name="error"/> is not a transport failure (a cancel the caller asked for,
        /// a HexCost error, a bug).</summary>
        public static TransportFailure? From(Exception error, CancellationToken callerToken)
        {
            switch (error)
            {
                case TimeoutRejectedException _:
                    return new TransportFailure(TransportCause.Timeout, true);
                case OperationCanceledException _:
                    return callerToken.IsCancellationRequested ? null : new TransportFailure(TransportCause.Timeout, true);
                case HttpRequestException http:
                    return FromHttp(http);
                case IOException _:
                case SocketException _:
                    return new TransportFailure(TransportCause.ConnectionLost, true);
                default:
                    return null;
            }
        }

        private static TransportFailure FromHttp(HttpRequestException error)
        {
            var fromChain = FromInnerExceptions(error);
#if NET8_0_OR_GREATER
            switch (error.HttpRequestError)
            {
                case HttpRequestError.NameResolutionError:
                    return new TransportFailure(TransportCause.NameResolution, false);
                case HttpRequestError.SecureConnectionError:
                    return fromChain?.Cause == TransportCause.TlsCertificate ? fromChain : new TransportFailure(TransportCause.TlsHandshake, false);
                case HttpRequestError.ConnectionError:
                case HttpRequestError.ProxyTunnelError:
                    return fromChain != null && !fromChain.RequestMayHaveArrived ? fromChain : new TransportFailure(TransportCause.ConnectionLost, false);
                case HttpRequestError.ResponseEnded:
                    return new TransportFailure(TransportCause.ConnectionLost, true);
            }
#endif
            return fromChain ?? new TransportFailure(TransportCause.Other, true);
        }

        /// <summary>The cause as the inner exceptions tell it (all that .NET Framework gives).</summary>
        private static TransportFailure? FromInnerExceptions(Exception error)
        {
            for (var inner = error.InnerException; inner != null; inner = inner.InnerException)
            {
                switch (inner)
                {
                    case SocketException socket when socket.SocketErrorCode == SocketError.ConnectionRefused:
                        return new TransportFailure(TransportCause.ConnectionRefused, false);
                    case SocketException socket when socket.SocketErrorCode == SocketError.HostNotFound || socket.SocketErrorCode == SocketError.TryAgain
                                                     || socket.SocketErrorCode == SocketError.NoData:
                        return new TransportFailure(TransportCause.NameResolution, false);
                    case SocketException socket when socket.SocketErrorCode == SocketError.NetworkUnreachable || socket.SocketErrorCode == SocketError.HostUnreachable
                                                     || socket.SocketErrorCode == SocketError.TimedOut:
                        return new TransportFailure(TransportCause.Other, false);
                    case AuthenticationException tls:
                        return new TransportFailure(tls.Message.IndexOf("certificate", StringComparison.OrdinalIgnoreCase) >= 0
                            ? TransportCause.TlsCertificate : TransportCause.TlsHandshake, false);
                    case WebException web when web.Status == WebExceptionStatus.NameResolutionFailure:
                        return new TransportFailure(TransportCause.NameResolution, false);
                    case WebException web when web.Status == WebExceptionStatus.ConnectFailure:
                        return new TransportFailure(TransportCause.ConnectionRefused, false);
                    case WebException web when web.Status == WebExceptionStatus.TrustFailure:
                        return new TransportFailure(TransportCause.TlsCertificate, false);
                    case WebException web when web.Status == WebExceptionStatus.SecureChannelFailure:
                        return new TransportFailure(TransportCause.TlsHandshake, false);
                }
            }
            return null;
        }

        /// <summary>What happened, for one retry's verbose line: "connection refused".</summary>
        public string Short(Uri server, TimeSpan attemptTimeout)
        {
            switch (Cause)
            {
                case TransportCause.ConnectionRefused: return "connection refused";
                case TransportCause.NameResolution: return $"the name {server.Host} does not resolve";
                case TransportCause.TlsHandshake: return "the TLS handshake failed";
                case TransportCause.TlsCertificate: return "its TLS certificate is not trusted";
                case TransportCause.Timeout: return "no answer within " + Seconds(attemptTimeout) + " s";
                case TransportCause.ConnectionLost: return "the connection closed before an answer came";
                default: return "the connection failed";
            }
        }

        /// <summary>The whole message: the host, the likely cause, what HexCost tried and what to do.</summary>
        public string Describe(Uri server, TimeSpan attemptTimeout, int tries, TimeSpan elapsed, Exception error)
        {
            var endpoint = server.Host + ":" + server.Port.ToString(CultureInfo.InvariantCulture);
            var tried = $"{tries} {(tries == 1 ? "try" : "tries")} in {Seconds(elapsed)} s";
            switch (Cause)
            {
                case TransportCause.ConnectionRefused:
                    return $"HexCost could not reach {endpoint}: connection refused, nothing listens on port {server.Port} there ({tried}). " +
                           "Check the host and port of -BaseUri (Hex is https://app.hex.tech/api/v1, or your workspace's own host) and that the server or proxy is up.";
                case TransportCause.NameResolution:
                    return $"HexCost could not reach {endpoint}: the host name {server.Host} does not resolve (DNS; {tried}). " +
                           "Check the host in -BaseUri (app.hex.tech, eu.hex.tech or <workspace>.hex.tech) and this machine's DNS and proxy settings.";
                case TransportCause.TlsHandshake:
                    return $"HexCost could not reach {endpoint}: the TLS handshake failed, so the port likely serves plain http, not https ({tried}). " +
                           "Use the server's https port in -BaseUri; plain http:// is allowed only to this machine (an emulator).";
                case TransportCause.TlsCertificate:
                    return $"HexCost could not reach {endpoint}: its TLS certificate is not trusted by this machine ({tried}). " +
                           "Check -BaseUri names Hex's host, or trust the proxy's certificate authority; HexCost never skips the check.";
                case TransportCause.Timeout:
                    return $"HexCost got no answer from {endpoint} within {Seconds(attemptTimeout)} s a try ({tried}). " +
                           "Hex or the network is slow or down: try again later, or give each request longer with Connect-Hex -RequestTimeout.";
                case TransportCause.ConnectionLost:
                    return $"HexCost lost the connection to {endpoint} before it answered ({tried}). " +
                           "Check proxies and firewalls between this machine and Hex, then try again.";
                default:
                    return $"HexCost could not reach {endpoint} ({error.GetBaseException().Message.Trim().TrimEnd('.')}; {tried}). " +
                           "Check the network and -BaseUri, then try again.";
            }
        }

        private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
    }

    /// <summary>A request that got no HTTP answer (refused, DNS, TLS, timeout, a dropped connection) after HexCost's retries.</summary>
    public sealed class HexConnectionException : HexException
    {
        public HexConnectionException(TransportFailure failure, string message, Exception inner)
            : base(HexErrorKind.Transport, message, inner)
        {
            Failure = failure;
        }

        public TransportFailure Failure { get; }
    }
}
