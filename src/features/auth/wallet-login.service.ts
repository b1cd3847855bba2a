import { Inject, Injectable, Logger } from '@nestjs/common';
import { fromBech32 } from '@cosmjs/encoding';
import { randomBytes } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { AppConfig } from '../../adapters/config/config';
import { APP_CONFIG } from '../../adapters/config/config.module';
import { invalid, Problem } from '../../core/common/problem';
import { AuthService } from './auth.service';
import type { Principal } from '../../core/auth/principal';
import { generateSessionTokens, hashSecret, isRefreshToken } from '../../core/auth/session-token';
import { SlurmUserMapping } from '../../adapters/slurm/slurm-user-mapping';
import { IDENTITY_SOURCE, IdentitySource } from '../../core/identity/identity-source';
import { challengeText, claimedFields, verifyWalletSignature } from '../../core/identity/wallet-signature';
import { WalletLoginRepository } from './wallet-login.repository';
import { AUDIT_TRAIL, type AuditTrail } from '../../core/audit/audit-trail';
import { PrincipalsRepository } from './principals.repository';

/** At most this many open (unused, unexpired) challenges per client IP. */
const MAX_OPEN_CHALLENGES_PER_CLIENT = 50;

const refusedLogin = (reason: string, detail: string) => new Problem(401, 'Unauthorized', detail, { field: 'signature', reason });

/**
 * Password-less login with a VirtEngine wallet (ADR-036), and the login sessions it issues.
 *
 * Refusals are all 401 with a `reason`: unknown_nonce, replayed_nonce, expired_nonce,
 * foreign_domain, address_mismatch, tampered_message, key_not_address, bad_signature; refresh:
 * unknown_refresh_token, refresh_token_reused (the whole login is revoked), expired_refresh_token.
 */
@Injectable()
export class WalletLoginService {
  private readonly logger = new Logger(WalletLoginService.name);

  constructor(
    private readonly repo: WalletLoginRepository,
    private readonly principals: PrincipalsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(IDENTITY_SOURCE) private readonly source: IdentitySource,
    @Inject(AUDIT_TRAIL) private readonly audit: AuditTrail,
    private readonly auth: AuthService,
    private readonly mapping: SlurmUserMapping,
  ) {}

  async challenge(address: string, client: string) {
    this.checkAddress(address);
    if ((await this.repo.openChallenges(client)) >= MAX_OPEN_CHALLENGES_PER_CLIENT) {
      throw new Problem(
        429,
        'Too many requests',
        `${MAX_OPEN_CHALLENGES_PER_CLIENT} challenges asked from here are still open; use one or wait for them to expire`,
      );
    }
    const issuedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    const challenge = {
      domain: this.config.identity.loginDomain,
      address,
      nonce: randomBytes(24).toString('base64url'),
      issuedAt,
      expiresAt: new Date(issuedAt.getTime() + this.config.identity.challengeSeconds * 1000),
    };
    await this.repo.insertChallenge({
      nonce: challenge.nonce,
      address,
      client,
      domain: challenge.domain,
      issued_at: challenge.issuedAt,
      expires_at: challenge.expiresAt,
    });
    return { ...challenge, issuedAt: issuedAt.toISOString(), expiresAt: challenge.expiresAt.toISOString(), message: challengeText(challenge) };
  }

  async login(input: { address: string; message: string; signature: { pub_key: { type: string; value: string }; signature: string } }) {
    this.checkAddress(input.address);
    if (input.signature.pub_key.type !== 'tendermint/PubKeySecp256k1') {
      throw invalid('signature.pub_key.type', 'only tendermint/PubKeySecp256k1 keys are supported');
    }
    const claimed = claimedFields(input.message);
    if (claimed.domain !== this.config.identity.loginDomain) {
      throw refusedLogin('foreign_domain', `the message was signed for ${claimed.domain ?? 'an unknown domain'}, not ${this.config.identity.loginDomain}`);
    }
    const stored = claimed.nonce ? await this.repo.findChallenge(claimed.nonce) : null;
    if (!stored) throw refusedLogin('unknown_nonce', 'the message names no challenge this service issued; ask for a new one (POST /v1/auth/challenge)');
    if (stored.used_at) throw refusedLogin('replayed_nonce', 'this challenge was already used; a signed challenge logs in once');
    if (new Date(stored.expires_at).getTime() <= Date.now()) {
      throw refusedLogin('expired_nonce', `the challenge expired at ${new Date(stored.expires_at).toISOString()}; ask for a new one`);
    }
    if (stored.address !== input.address) throw refusedLogin('address_mismatch', 'the challenge was issued for another address');
    const expected = challengeText({
      domain: stored.domain,
      address: stored.address,
      nonce: stored.nonce,
      issuedAt: new Date(stored.issued_at),
      expiresAt: new Date(stored.expires_at),
    });
    if (input.message !== expected) throw refusedLogin('tampered_message', 'the message differs from the challenge that was issued; sign it unchanged');
    // Single use before the (slow) signature check: a replay racing this request loses here.
    if (!(await this.repo.useChallenge(stored.nonce))) throw refusedLogin('replayed_nonce', 'this challenge was already used; a signed challenge logs in once');
    const verdict = await verifyWalletSignature(this.config.chain.bech32Prefix, input.address, input.message, {
      pubKey: input.signature.pub_key.value,
      signature: input.signature.signature,
    });
    if (verdict === 'malformed') throw invalid('signature', 'pub_key.value must be a base64 33-byte compressed key and signature a base64 64-byte signature');
    if (verdict === 'key_not_address') throw refusedLogin('key_not_address', `the public key does not derive ${input.address}`);
    if (verdict === 'bad_signature') throw refusedLogin('bad_signature', 'the signature does not verify for this message and key');

    const initial = this.source.initialAccount(input.address) ?? { kind: 'researcher' as const, slurmUser: null };
    const principal = await this.principals.ensureWalletPrincipal(input.address, initial);
    if (!principal) throw new Problem(403, 'Forbidden', 'the principal of this address is disabled');
    this.logger.log(`wallet login: ${input.address} (${principal.id})`);
    await this.audit.record({
      actor: `principal:${principal.id}`,
      action: 'session.login',
      target: `principal:${principal.id}`,
      details: { address: input.address },
    });
    await this.repo.dropDeadSessions(principal.id);
    return {
      ...(await this.newSession(principal.id, null)),
      principal: { id: principal.id, kind: principal.kind, chainAddress: principal.chain_address, slurmUser: principal.slurm_user },
    };
  }

  async refresh(refreshToken: string) {
    if (!isRefreshToken(refreshToken))
      throw new Problem(401, 'Unauthorized', 'the refresh token is not valid', { field: 'refreshToken', reason: 'unknown_refresh_token' });
    type Refusal = 'unknown_refresh_token' | 'refresh_token_reused' | 'expired_refresh_token';
    const outcome = await this.repo.withRefreshLocked(
      hashSecret(refreshToken),
      async (row, m): Promise<{ refused: Refusal } | { issued: Awaited<ReturnType<WalletLoginService['newSession']>> }> => {
        if (!row || row.revoked_at) return { refused: 'unknown_refresh_token' as const };
        if (row.rotated_at) {
          // A refresh token used twice was copied: end the whole login, the thief's copy and the keys it minted included.
          await this.repo.revokeFamily(row.family_id, m);
          await this.auth.revokeKeysOfLogin(row.family_id, 'system:wallet-login', 'refresh token reused');
          return { refused: 'refresh_token_reused' as const };
        }
        if (new Date(row.refresh_expires_at).getTime() <= Date.now()) return { refused: 'expired_refresh_token' as const };
        await this.repo.markRotated(row.id, m);
        return { issued: await this.newSession(row.principal_id, row.family_id, m) };
      },
    );
    if ('refused' in outcome) {
      if (outcome.refused === 'refresh_token_reused') this.auth.forgetCachedKeys();
      const detail = {
        unknown_refresh_token: 'the refresh token is unknown or its login was ended',
        refresh_token_reused: 'this refresh token was already used; the login is revoked everywhere: log in again',
        expired_refresh_token: 'the refresh token expired; log in again',
      }[outcome.refused];
      throw new Problem(401, 'Unauthorized', detail, { field: 'refreshToken', reason: outcome.refused });
    }
    return outcome.issued;
  }

  /** Ends the caller's login (every session of its refresh chain) and every API key the login minted. */
  async logout(principal: Principal): Promise<void> {
    const match = /^session:(.+)$/.exec(principal.credentialId);
    if (!match) throw invalid('Authorization', 'logout ends wallet login sessions; API keys are revoked with DELETE /v1/api-keys/{id}');
    const family = await this.repo.familyOf(match[1]);
    const actor = `principal:${principal.id}`;
    await this.repo.transaction(async (m) => {
      if (family) {
        await this.repo.revokeFamily(family, m);
        await this.auth.revokeKeysOfLogin(family, actor, 'logout');
      }
      await this.audit.record({ actor, action: 'session.logout', target: `principal:${principal.id}` });
    });
    this.auth.forgetCachedKeys();
  }

  async setWalletAccount(by: Principal, address: string, kind: 'researcher' | 'provider_admin', slurmUser: string | null) {
    this.checkAddress(address);
    const onIslands = slurmUser === null ? undefined : await this.mapping.check(slurmUser);
    await this.audit.record({ actor: `principal:${by.id}`, action: 'wallet_account.set', target: `address:${address}`, details: { kind, slurmUser } });
    const principal = await this.repo.setWalletAccount(address, kind, slurmUser);
    return { address, kind, slurmUser, principalId: principal?.id ?? null, ...(onIslands ? { slurmUserOnIslands: onIslands } : {}) };
  }

  private checkAddress(address: string): void {
    let decoded;
    try {
      decoded = fromBech32(address, 90); // an explicit limit: the default (Infinity) throws in @cosmjs/encoding 0.39
    } catch {
      throw invalid('address', 'is not a valid bech32 address (checksum)');
    }
    if (decoded.prefix !== this.config.chain.bech32Prefix)
      throw invalid('address', `must start with ${this.config.chain.bech32Prefix}1 (this chain's account prefix)`);
    if (decoded.data.length !== 20) throw invalid('address', 'must be a 20-byte account address');
  }

  private async newSession(principalId: string, familyId: string | null, m?: EntityManager) {
    const tokens = generateSessionTokens();
    const session = await this.repo.insertSession(
      {
        familyId,
        principalId,
        tokenHash: hashSecret(tokens.sessionToken),
        refreshHash: hashSecret(tokens.refreshToken),
        seconds: this.config.identity.sessionSeconds,
        refreshSeconds: this.config.identity.refreshSeconds,
      },
      m,
    );
    return {
      tokenType: 'Bearer',
      sessionToken: tokens.sessionToken,
      refreshToken: tokens.refreshToken,
      expiresAt: new Date(session.expires_at).toISOString(),
      refreshExpiresAt: new Date(session.refresh_expires_at).toISOString(),
    };
  }
}
