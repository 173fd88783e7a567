/** The text shown for an error: the API's own message when it sent one. */
import { ApiError } from './api';

/** The message of an error: the API's own message when it sent one. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}
