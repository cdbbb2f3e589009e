/**
 * The macOS keychain's native symbol tables: the framework paths, the CoreFoundation and Security.framework
 * declarations `keychain_ffi.ts` opens with `Deno.dlopen`, and the constants the calls need. Declaring loads nothing;
 * every symbol here is listed in `docs/macos-keychain.md`. No variadic function is declared: calling one as
 * fixed-arity breaks on arm64.
 * @module
 */

/** Path of CoreFoundation. */
export const CF_PATH = "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation";
/** Path of Security.framework. */
export const SECURITY_PATH = "/System/Library/Frameworks/Security.framework/Security";
/** `kCFStringEncodingUTF8`. */
export const CF_STRING_ENCODING_UTF8 = 0x08000100;

// Exported constants are variables (`const CFStringRef kSecClass`): Deno gives the symbol's address, we deref it.
// The callback structs are used by address, which is exactly what Deno gives.
const staticPtr = { type: "pointer" } as const;

/** CoreFoundation functions and constants (`CFIndex` = isize, `CFTypeID` = usize, `Boolean` = u8). */
export const CF_SYMBOLS = {
  CFRelease: { parameters: ["pointer"], result: "void" },
  CFGetTypeID: { parameters: ["pointer"], result: "usize" },
  CFStringGetTypeID: { parameters: [], result: "usize" },
  CFDataGetTypeID: { parameters: [], result: "usize" },
  CFArrayGetTypeID: { parameters: [], result: "usize" },
  CFDictionaryGetTypeID: { parameters: [], result: "usize" },
  CFStringCreateWithBytes: { parameters: ["pointer", "buffer", "isize", "u32", "u8"], result: "pointer" },
  CFStringCreateExternalRepresentation: { parameters: ["pointer", "pointer", "u32", "u8"], result: "pointer" },
  CFDataCreate: { parameters: ["pointer", "buffer", "isize"], result: "pointer" },
  CFDataGetBytePtr: { parameters: ["pointer"], result: "pointer" },
  CFDataGetLength: { parameters: ["pointer"], result: "isize" },
  CFArrayCreate: { parameters: ["pointer", "buffer", "isize", "pointer"], result: "pointer" },
  CFArrayGetCount: { parameters: ["pointer"], result: "isize" },
  CFArrayGetValueAtIndex: { parameters: ["pointer", "isize"], result: "pointer" },
  CFDictionaryCreate: {
    parameters: ["pointer", "buffer", "buffer", "isize", "pointer", "pointer"],
    result: "pointer",
  },
  CFDictionaryGetValue: { parameters: ["pointer", "pointer"], result: "pointer" },
  kCFBooleanTrue: staticPtr,
  kCFTypeArrayCallBacks: staticPtr,
  kCFTypeDictionaryKeyCallBacks: staticPtr,
  kCFTypeDictionaryValueCallBacks: staticPtr,
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * Security.framework functions (all return OSStatus) and the `kSec*` keys. Every one is nonblocking (a worker thread,
 * a Promise): besides the calls that wait on a user prompt (unlock, access confirmation, new keychain password), the
 * legacy keychain serialises on a per-keychain lock, so even `SecKeychainOpen`, `SecKeychainGetStatus` and
 * `SecAccessCreate` can wait while a dialog is up; the event loop (and the credential servers) must not stall.
 */
export const SECURITY_SYMBOLS = {
  SecKeychainOpen: { parameters: ["buffer", "buffer"], result: "i32", nonblocking: true },
  SecKeychainGetStatus: { parameters: ["pointer", "buffer"], result: "i32", nonblocking: true },
  SecKeychainCreate: {
    parameters: ["buffer", "u32", "pointer", "u8", "pointer", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  SecAccessCreate: { parameters: ["pointer", "pointer", "buffer"], result: "i32", nonblocking: true },
  SecItemAdd: { parameters: ["pointer", "pointer"], result: "i32", nonblocking: true },
  SecItemCopyMatching: { parameters: ["pointer", "buffer"], result: "i32", nonblocking: true },
  SecItemUpdate: { parameters: ["pointer", "pointer"], result: "i32", nonblocking: true },
  SecItemDelete: { parameters: ["pointer"], result: "i32", nonblocking: true },
  kSecClass: staticPtr,
  kSecClassGenericPassword: staticPtr,
  kSecAttrService: staticPtr,
  kSecAttrAccount: staticPtr,
  kSecAttrLabel: staticPtr,
  kSecAttrDescription: staticPtr,
  kSecAttrAccess: staticPtr,
  kSecValueData: staticPtr,
  kSecUseKeychain: staticPtr,
  kSecMatchSearchList: staticPtr,
  kSecMatchLimit: staticPtr,
  kSecMatchLimitOne: staticPtr,
  kSecMatchLimitAll: staticPtr,
  kSecReturnData: staticPtr,
  kSecReturnAttributes: staticPtr,
} as const satisfies Deno.ForeignLibraryInterface;
