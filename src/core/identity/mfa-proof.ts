/** What a caller presents for a sensitive action: an MFA session verified on chain, optionally a device. */
export interface MfaProof {
  sessionId: string | null;
  deviceFingerprint: string | null;
  trustToken: string | null;
}
