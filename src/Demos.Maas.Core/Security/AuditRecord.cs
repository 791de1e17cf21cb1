namespace Demos.Maas.Security;

/// <summary>One call in the audit log.</summary>
/// <param name="Time">When the call ended (UTC).</param>
/// <param name="Identity">The caller: API key id, certificate subject, or "anonymous".</param>
/// <param name="Model">The model name or uuid the call named.</param>
/// <param name="Operation">The operation.</param>
/// <param name="Code">The outcome: Ok or the error code.</param>
/// <param name="BytesIn">Array bytes the caller sent (x, v, theta).</param>
/// <param name="BytesOut">Array bytes the call returned.</param>
/// <param name="DurationMicros">How long the call ran on the server.</param>
/// <param name="RemoteAddress">The caller's address.</param>
public sealed record AuditRecord(DateTimeOffset Time, string Identity, string Model, string Operation, MaasErrorCode Code, long BytesIn, long BytesOut, long DurationMicros, string RemoteAddress);
