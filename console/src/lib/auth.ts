/** The API key of this browser tab (sessionStorage), and the signal that the API refused it. */

export const API_KEY_STORAGE = 'callpipe.apiKey';

const events = new EventTarget();
const UNAUTHORIZED = 'unauthorized';

export function getApiKey(): string | null {
  return sessionStorage.getItem(API_KEY_STORAGE);
}

export function setApiKey(key: string): void {
  sessionStorage.setItem(API_KEY_STORAGE, key);
}

export function clearApiKey(): void {
  sessionStorage.removeItem(API_KEY_STORAGE);
}

/** Forget the key and tell the app (which returns to the sign-in page). */
export function signalUnauthorized(): void {
  clearApiKey();
  events.dispatchEvent(new Event(UNAUTHORIZED));
}

/** Call `listener` whenever the API answers 401; returns the unsubscribe function. */
export function onUnauthorized(listener: () => void): () => void {
  events.addEventListener(UNAUTHORIZED, listener);
  return () => {
    events.removeEventListener(UNAUTHORIZED, listener);
  };
}
