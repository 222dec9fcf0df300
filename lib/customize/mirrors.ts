/*
 * Image references pulled through a mirror of their registry (config `images.mirrors`).
 */

/** `image` pulled from its registry's mirror: "docker.io/library/redis:7" → "harbor.example.com/dockerhub/library/redis:7". */
export function mirrored(image: string, mirrors: Readonly<Record<string, string>>): string {
  const slash = image.indexOf('/');
  const first = slash < 0 ? '' : image.slice(0, slash);
  // A reference without a registry host ("redis:7", "library/redis") is Docker Hub's.
  const hasHost = first.includes('.') || first.includes(':') || first === 'localhost';
  const host = hasHost ? first : 'docker.io';
  const rest = hasHost ? image.slice(slash + 1) : slash < 0 ? `library/${image}` : image;
  const mirror = mirrors[host];
  return mirror === undefined ? image : `${mirror}/${rest}`;
}
