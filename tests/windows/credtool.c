/*
 * credtool.exe: an independent Credential Manager client for the Windows suite, written from wincred.h and sharing
 * nothing with aws-vault. It writes generic credentials the way the Go aws-vault does (99designs/keyring over
 * danieljoos/wincred: NewGenericCredential + Write), so the suite can check both directions of compatibility.
 *
 *   credtool write TARGET HEXBLOB   CredWriteW: CRED_TYPE_GENERIC, CRED_PERSIST_LOCAL_MACHINE, Flags 0, the blob's
 *                                   raw bytes, Comment/TargetAlias/UserName "" (Go passes empty strings, not NULL),
 *                                   LastWritten now, no attributes
 *   credtool read TARGET            prints "type=N persist=N flags=N size=N blob=HEX"
 *   credtool list FILTER            CredEnumerateW(FILTER, 0): one target name per line ("-": NULL, every one)
 *   credtool delete TARGET          CredDeleteW
 *
 * Exit status: 0 ok, 2 ERROR_NOT_FOUND (printed as "not found"), 1 any other failure ("error N"), 64 usage.
 * Arguments and output are UTF-16 on the Windows side and UTF-8 on stdout. Build:
 *   x86_64-w64-mingw32-gcc -O2 -municode -o credtool.exe credtool.c -ladvapi32
 */
#include <windows.h>
#include <wincred.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <io.h>
#include <fcntl.h>


static void put_utf8(const wchar_t *text) {
    int size = WideCharToMultiByte(CP_UTF8, 0, text, -1, NULL, 0, NULL, NULL);
    char *utf8 = malloc(size > 0 ? size : 1);
    if (size <= 0 || !WideCharToMultiByte(CP_UTF8, 0, text, -1, utf8, size, NULL, NULL)) utf8[0] = 0;
    fputs(utf8, stdout);
    free(utf8);
}

static int failure(const char *operation) {
    DWORD code = GetLastError(); /* read first: nothing runs between the failed call and this line */
    if (code == ERROR_NOT_FOUND) {
        printf("not found\n");
        return 2;
    }
    printf("%s: error %lu\n", operation, (unsigned long)code);
    return 1;
}

static int hex_value(wchar_t c) {
    if (c >= L'0' && c <= L'9') return c - L'0';
    if (c >= L'a' && c <= L'f') return c - L'a' + 10;
    if (c >= L'A' && c <= L'F') return c - L'A' + 10;
    return -1;
}

int wmain(int argc, wchar_t **argv) {
    _setmode(_fileno(stdout), _O_BINARY); /* no \r\n translation */
    if (argc == 4 && wcscmp(argv[1], L"write") == 0) {
        size_t digits = wcslen(argv[3]);
        if (digits % 2) return 64;
        BYTE *blob = malloc(digits / 2 + 1);
        for (size_t i = 0; i < digits / 2; i++) {
            int high = hex_value(argv[3][2 * i]), low = hex_value(argv[3][2 * i + 1]);
            if (high < 0 || low < 0) return 64;
            blob[i] = (BYTE)(high << 4 | low);
        }
        CREDENTIALW cred;
        memset(&cred, 0, sizeof cred);
        cred.Flags = 0;
        cred.Type = CRED_TYPE_GENERIC;
        cred.TargetName = argv[2];
        cred.Comment = L"";
        GetSystemTimeAsFileTime(&cred.LastWritten);
        cred.CredentialBlobSize = (DWORD)(digits / 2);
        cred.CredentialBlob = digits ? blob : NULL;
        cred.Persist = CRED_PERSIST_LOCAL_MACHINE;
        cred.AttributeCount = 0;
        cred.Attributes = NULL;
        cred.TargetAlias = L"";
        cred.UserName = L"";
        if (!CredWriteW(&cred, 0)) return failure("CredWriteW");
        printf("written\n");
        return 0;
    }
    if (argc == 3 && wcscmp(argv[1], L"read") == 0) {
        PCREDENTIALW cred;
        if (!CredReadW(argv[2], CRED_TYPE_GENERIC, 0, &cred)) return failure("CredReadW");
        printf("type=%lu persist=%lu flags=%lu size=%lu blob=", (unsigned long)cred->Type,
               (unsigned long)cred->Persist, (unsigned long)cred->Flags, (unsigned long)cred->CredentialBlobSize);
        for (DWORD i = 0; i < cred->CredentialBlobSize; i++) printf("%02x", cred->CredentialBlob[i]);
        printf("\n");
        CredFree(cred);
        return 0;
    }
    if (argc == 3 && wcscmp(argv[1], L"list") == 0) {
        DWORD count;
        PCREDENTIALW *creds;
        /* "-": a NULL filter (every credential). Wine 8 refuses CRED_ENUMERATE_ALL_CREDENTIALS (error 1004). */
        if (!CredEnumerateW(wcscmp(argv[2], L"-") == 0 ? NULL : argv[2], 0, &count, &creds)) {
            return failure("CredEnumerateW");
        }
        for (DWORD i = 0; i < count; i++) {
            put_utf8(creds[i]->TargetName);
            printf("\n");
        }
        CredFree(creds);
        return 0;
    }
    if (argc == 3 && wcscmp(argv[1], L"delete") == 0) {
        if (!CredDeleteW(argv[2], CRED_TYPE_GENERIC, 0)) return failure("CredDeleteW");
        printf("deleted\n");
        return 0;
    }
    fprintf(stderr, "usage: credtool write TARGET HEXBLOB | read TARGET | list FILTER | delete TARGET\n");
    return 64;
}
