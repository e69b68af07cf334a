package testbed

import (
	"fmt"
	"os"
	"path/filepath"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// UsersNamespace holds the service accounts behind the bed's restricted
// users.
const UsersNamespace = "memsnap-e2e-users"

// User is a restricted identity for tests: a service account whose
// permissions are exactly Rules (one ClusterRole bound cluster-wide), with
// a token from the API server's TokenRequest API.
type User struct {
	Name       string
	Token      string
	Kubeconfig string // a kubeconfig file for kubectl and plugins
	Config     *rest.Config
}

// Common rule sets for restricted users (DESIGN §6 lists what memsnap
// needs). Tests combine them; the kubectl plugin's tests need "may not
// create pods" and "may not get nodes/proxy".
var (
	RuleReadNodes  = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get", "list"}}
	RuleNodeProxy  = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"nodes/proxy", "nodes/stats", "nodes/metrics"}, Verbs: []string{"get"}}
	RuleReadPods   = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get", "list"}}
	RuleCreatePods = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods", "pods/exec", "pods/attach"}, Verbs: []string{"create", "delete"}}
)

// User creates (or reuses) a service account NAME allowed exactly rules,
// mints a token for it and writes its kubeconfig into the bed.
func (b *Bed) User(name string, rules ...rbacv1.PolicyRule) (*User, error) {
	ctx := b.ctx
	if err := b.Namespace(UsersNamespace); err != nil {
		return nil, err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: UsersNamespace}}
	if _, err := b.Client.CoreV1().ServiceAccounts(UsersNamespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("user %s: %w", name, err)
	}
	role := "memsnap-e2e-user:" + name
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: role}, Rules: rules}
	if _, err := b.Client.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		if _, err := b.Client.RbacV1().ClusterRoles().Update(ctx, cr, metav1.UpdateOptions{}); err != nil {
			return nil, fmt.Errorf("user %s: update role: %w", name, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("user %s: role: %w", name, err)
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: UsersNamespace}},
	}
	if _, err := b.Client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("user %s: binding: %w", name, err)
	}
	hour := int64(3600)
	tr, err := b.Client.CoreV1().ServiceAccounts(UsersNamespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &hour}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("user %s: token: %w", name, err)
	}
	u := &User{Name: name, Token: tr.Status.Token, Kubeconfig: filepath.Join(b.Dir, "user-"+name+".kubeconfig")}
	u.Config = &rest.Config{Host: b.APIServerURL, BearerToken: u.Token, TLSClientConfig: rest.TLSClientConfig{CAFile: b.CAFile}}
	if err := writeKubeconfig(u.Kubeconfig, b.APIServerURL, b.CAFile, name, u.Token); err != nil {
		return nil, err
	}
	return u, nil
}

// writeKubeconfig writes a one-context kubeconfig with a bearer token.
func writeKubeconfig(path, server, caFile, user, token string) error {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["memsnap-e2e"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["memsnap-e2e"] = &clientcmdapi.Context{Cluster: "memsnap-e2e", AuthInfo: user, Namespace: "default"}
	cfg.CurrentContext = "memsnap-e2e"
	return clientcmd.WriteToFile(*cfg, path)
}
