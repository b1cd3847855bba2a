import { api, ApiError, session } from './api.js';
import { el, errorText, show } from './dom.js';

/** What a browser wallet extension (Keplr, Leap) offers for ADR-036 logins. */
interface BrowserWallet {
  enable(chainId: string): Promise<void>;
  getKey(chainId: string): Promise<{ bech32Address: string }>;
  signArbitrary(chainId: string, signer: string, data: string): Promise<unknown>;
}

function browserWallet(): BrowserWallet | null {
  const found = window as unknown as { keplr?: BrowserWallet; leap?: BrowserWallet };
  return found.keplr ?? found.leap ?? null;
}

/** The wallet login of docs/api.md: a challenge for the address, the wallet signs it, a session comes back. */
async function walletLogin(chainId: string, typedAddress: string): Promise<void> {
  const wallet = browserWallet();
  if (!wallet)
    throw new Error(
      'no wallet extension (Keplr or Leap) in this browser: sign in with an API key, or log in with `archipelago login --wallet` and paste its session token',
    );
  await wallet.enable(chainId);
  const address = typedAddress || (await wallet.getKey(chainId)).bech32Address;
  const challenge = await api<{ message: string }>('POST', '/v1/auth/challenge', { address });
  const signature = await wallet.signArbitrary(chainId, address, challenge.message);
  const login = await api<{ sessionToken: string; refreshToken: string }>('POST', '/v1/auth/login', { address, message: challenge.message, signature });
  session.save(login.sessionToken, login.refreshToken);
}

/** Sign-in with an API key (or a session token the CLI printed) or a browser wallet; `done` runs once signed in. */
export function showSignIn(container: Element, done: () => void): void {
  const message = el('p', { class: 'error', id: 'sign-in-error', role: 'alert' });
  const fail = (error: unknown) => {
    session.clear();
    message.textContent =
      error instanceof ApiError && error.status === 401 ? `Not signed in: ${error.problem.detail ?? 'the credentials were refused'}` : errorText(error);
  };
  const keyInput = el('input', { id: 'api-key', type: 'password', autocomplete: 'off', placeholder: 'ak_… or st_…', required: true });
  const keyForm = el(
    'form',
    {
      id: 'key-sign-in',
      onsubmit: (event) => {
        event.preventDefault();
        session.save(keyInput.value.trim());
        api('GET', '/v1/auth/me').then(done, fail);
      },
    },
    el('h2', {}, 'API key'),
    el('label', { for: 'api-key' }, 'API key or session token'),
    keyInput,
    el('button', { type: 'submit' }, 'Sign in'),
  );
  const chainInput = el('input', { id: 'chain-id', value: 'virtengine-1' });
  const addressInput = el('input', { id: 'wallet-address', placeholder: 've1… (empty: the wallet’s own)' });
  const walletForm = el(
    'form',
    {
      id: 'wallet-sign-in',
      onsubmit: (event) => {
        event.preventDefault();
        walletLogin(chainInput.value.trim(), addressInput.value.trim()).then(done, fail);
      },
    },
    el('h2', {}, 'VirtEngine wallet'),
    el('label', { for: 'chain-id' }, 'Chain id'),
    chainInput,
    el('label', { for: 'wallet-address' }, 'Address'),
    addressInput,
    el('button', { type: 'submit' }, 'Sign in with wallet'),
  );
  show(container, el('section', { class: 'sign-in' }, keyForm, walletForm), message);
}
